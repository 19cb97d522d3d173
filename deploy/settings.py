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
    # The file `fab setup` writes on each backend so that nginx's http{} includes our vhost.
    # Debian's nginx.conf includes conf.d/*.conf; `{name}` and `{root}` are filled in per backend.
    # Empty: `setup` leaves nginx's own configuration alone.
    "DEPLOY_NGINX_INCLUDE_FILE": "/etc/nginx/conf.d/blog.conf",
    # Main-context and http-context lines of the throwaway nginx.conf that `nginx -t` checks a
    # staged vhost with (Debian's module loader and MIME types).
    "DEPLOY_NGINX_TEST_MAIN": ["include /etc/nginx/modules-enabled/*.conf;"],
    "DEPLOY_NGINX_TEST_HTTP": ["include /etc/nginx/mime.types;"],
    # `fab setup` provisions bare Debian hosts: packages, the deploy account and its sudoers
    # drop-in, nginx and haproxy pointed at our config and started. False: the hosts are
    # provisioned otherwise, and `setup` only prepares the deploy's folders and include file.
    "DEPLOY_PROVISION": True,
    # Debian packages each role needs, installed by `fab setup` when missing. curl: the health
    # check after a flip; socat: haproxy's runtime API; openssl: the bootstrap certificate.
    "DEPLOY_BACKEND_PACKAGES": [
        "nginx",
        "libnginx-mod-http-brotli-static",
        "rsync",
        "gzip",
        "brotli",
        "curl",
        "sudo",
    ],
    "DEPLOY_BALANCER_PACKAGES": ["haproxy", "certbot", "socat", "openssl", "sudo"],
    # The sudoers drop-in naming what the deploy account may run as root, per role.
    "DEPLOY_SUDOERS_FILE": "/etc/sudoers.d/blog-{role}",
    # The nginx.conf `fab setup` checks after pointing nginx at the live vhost.
    "DEPLOY_NGINX_MAIN_CONF": "/etc/nginx/nginx.conf",
    # Debian's placeholder site, which would answer every name our vhost does not; "" keeps it.
    "DEPLOY_NGINX_DEFAULT_SITE": "/etc/nginx/sites-enabled/default",
    # Where Debian's haproxy unit reads CONFIG= from.
    "DEPLOY_HAPROXY_DEFAULTS_FILE": "/etc/default/haproxy",
}
