"""One replica as production runs it: nginx in front of gunicorn, started and stopped together.

`python -m replica` (what `make replica` runs) renders nginx.conf.template with the settings of
replica/settings.py, starts gunicorn on a Unix socket and nginx on HOST:PORT in front of it, and
stops both when it is told to or when either ends. Why each limit and timeout: docs/deploy.md.
"""
