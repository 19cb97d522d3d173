"""`fab serve`: the development build kept in one process, rebuilt on save, served on
localhost with a live-reload script (deploy/tasks/serve.py wires the parts)."""
