"""What a release is on a host, and moving hosts between releases (stage, flip, lock, prune)."""
