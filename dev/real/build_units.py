"""Cut the real documents of ../shared/realplans/ into labelling units (run once; kept for
reproduction). A unit is a chunk of align's chunker at the time the units were made; the repo keeps
only its document, character offsets into the document body and a hash of its text, never the
text itself nor its headings (the documents are third-party; headings are recomputed on load)."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from align.chunk import chunk_document
from align.evaluate_real import REALPLANS_DIR, document_body
from align.read import read_bytes


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else REALPLANS_DIR
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).with_name("units.jsonl")
    rows = []
    for f in sorted(root.glob("[A-Z][0-9]*.txt")):
        body = document_body(f.read_text(encoding="utf-8"))
        doc = read_bytes(body.encode("utf-8"), f.name)
        assert doc.text == body, f.name
        for i, c in enumerate(chunk_document(doc), 1):
            rows.append(
                {
                    "id": f"{f.name[:3]}-u{i:03d}",
                    "doc": f.name,
                    "start": c.location.start,
                    "end": c.location.end,
                    "sha256": hashlib.sha256(c.text.encode("utf-8")).hexdigest()[:16],
                }
            )
    with out.open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{len(rows)} units -> {out}")


if __name__ == "__main__":
    main()
