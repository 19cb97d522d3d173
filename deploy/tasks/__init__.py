"""What each fab task does, on the workstation: the logic behind fabfile.py."""
