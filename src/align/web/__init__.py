"""`align serve`'s web app, the interface for people who do not use a terminal.

Upload a plan (or several, or a .zip), tick policy sets, read the HTML report or get the same
report as JSON. What lives where:

* ``app``      -- ``create_app``: the single-plan routes, admission (busy 503), the middleware
* ``batch``    -- the batch routes: start a batch, its progress page, overview and downloads
* ``jobs``     -- a batch being scored (plan states, results) and the in-memory job store
* ``unpack``   -- a batch's .zip uploads unpacked to plans, within the limits
* ``upload``   -- reading a multipart body into memory, within limits (one reader, both paths)
* ``pages``    -- the app's HTML pages: the upload form, the batch form, a batch's progress
* ``scorer``   -- the one Scorer of the process, shared and serialised; the policy-set choice
* ``security`` -- the security headers (CSP by script hash) and the middleware adding them
* ``limits``   -- the numbers that bound a client: sizes, timeouts, files, jobs
* ``server``   -- the uvicorn configuration `align serve` runs with (header/keep-alive timeouts)
"""
