"""The officer terminal: a keyboard-first web page for customs officers at a border post.

It is static files (``static/``) that talk to the API by relative paths (``/api/v1/...``),
so the main server and the offline post node serve the very same page. ``router`` serves
them at ``/terminal`` with a strict Content-Security-Policy; nothing here touches the store.
"""
