"""`hlb serve`: a read-only status page and JSON API over the database (docs/serve.md).

``make_app(ServeConfig(url, token))`` builds the aiohttp application (``hlb.serve.app``);
``queries`` and ``state`` read what the pages show. Needs aiohttp (``pip install 'hlb[serve]'``).
"""
