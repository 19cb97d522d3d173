"""The logic behind `fab`: plain, typed functions; fabfile.py only wires them to tasks."""
