"""`align serve`: the local web page for people who do not use a terminal."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ._app import app
from ._common import BackendOption, ModelOption, NoCacheOption, PolicyOption, handle_errors

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


@app.command()
@handle_errors
def serve(
    host: str = typer.Option(
        "127.0.0.1",
        "--host",
        help="监听地址；默认只允许本机访问。Address to bind (default: this computer only).",
    ),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="端口。Port."),
    policy: list[Path] = PolicyOption,
    model: str = ModelOption,
    backend: str = BackendOption,
    no_cache: bool = NoCacheOption,
) -> None:
    """启动网页：上传规划，选择政策集，查看 HTML 报告。Start the web page: upload a plan, read the report.

    打开 http://127.0.0.1:8000/ 。同样的报告以 JSON 提供于 POST /api/report 。
    """
    from ..errors import ConfigError

    try:
        import uvicorn

        from ..web.app import create_app
        from ..web.server import server_config
    except ImportError as e:  # starlette / uvicorn / python-multipart are the `serve` extra
        raise ConfigError(
            f"align serve 需要额外的依赖：pip install 'align-policy[serve]' (missing {e.name})"
        ) from None
    from ..pipeline import make_scorer

    # Build the scorer and load the model before binding the port: a bad --model or --policy
    # is reported here, as a CLI error, and the first upload does not wait for the model.
    sys.stderr.write("正在加载政策集和模型… loading policy sets and model…\n")
    scorer = make_scorer(policy, None, model, no_cache, progress=False, backend=backend)
    _ = scorer.index  # loads the embedder and embeds the tasks once

    loopback = host in LOOPBACK_HOSTS
    allowed = ["127.0.0.1", "localhost", "::1", "[::1]"] if loopback else None
    web = create_app(lambda: scorer, allowed_hosts=allowed)
    web.state.scorers.get()  # already built: /healthz reports the model as loaded
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    sys.stderr.write(f"打开 open http://{shown}:{port}/  （Ctrl+C 退出 quit）\n")
    if not loopback:
        sys.stderr.write(
            f"提示 warning: 监听 {host}，网络上的其他计算机也能访问 (reachable from the network)\n"
        )
    uvicorn.Server(server_config(web, host=host.strip("[]"), port=port)).run()
