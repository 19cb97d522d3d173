"""Defaults of the flat DEPLOY_* settings `fab` reads from the Pelican settings file.

The per-host keys (BACKENDS[*].nginx_*_command, BALANCER.config_dir, ...) have their defaults
with the rest of the server model in plugins/serverconfig/settings.py.
"""

from __future__ import annotations

DEFAULTS: dict[str, object] = {
    # Releases kept on each backend after a publish (the live and the previous are never pruned).
    "DEPLOY_RELEASES_KEPT": 5,
    # Seconds to wait for a drained server to finish its sessions before flipping it anyway:
    # the flip itself never breaks a response in flight (nginx keeps open files, reloads
    # gracefully), so a slow download only costs the wait.
    "DEPLOY_DRAIN_TIMEOUT": 30,
    # Seconds a flipped backend gets to serve the new release id on its health file.
    "DEPLOY_HEALTH_TIMEOUT": 30,
    # Seconds a backend whose nginx reloaded stays drained at least, before haproxy may depend
    # on it alone: a reload signal is handled asynchronously, and the old workers close the
    # kept-alive connections haproxy would reuse (then it waits until none is left running).
    "DEPLOY_RELOAD_SETTLE": 1,
    # The file `fab setup` writes on each backend so that nginx's http{} includes our vhost.
    # Debian's nginx.conf includes conf.d/*.conf; `{name}` and `{root}` are filled in per backend.
    # Empty: `setup` leaves nginx's own configuration alone.
    "DEPLOY_NGINX_INCLUDE_FILE": "/etc/nginx/conf.d/blog.conf",
    # Main-context and http-context lines of the throwaway nginx.conf that `nginx -t` checks a
    # staged vhost with (Debian's module loader and MIME types).
    "DEPLOY_NGINX_TEST_MAIN": ["include /etc/nginx/modules-enabled/*.conf;"],
    "DEPLOY_NGINX_TEST_HTTP": ["include /etc/nginx/mime.types;"],
}
