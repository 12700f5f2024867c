"""What a clinic owner reads without a terminal: the Atom feed of relevant alerts
(atom.py, pure: stored alert rows → Atom XML) and the local read-only web page (app.py,
a small Starlette app with Jinja2 templates, served by `inkwatch serve`; views.py reads
what each page shows from the store).

Its own package, not notify/render: the feed and the page are read by people and programs
that pull, not mail pushed to subscribers, and both share the page's filters. It reads the
store and never writes (layer: beside daemon, below cli)."""
