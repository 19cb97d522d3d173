"""Our Pelican plugins and the settings model they share with deploy/.

Pelican loads each plugin by its full name (`plugins.serverconfig`, see PLUGINS in
pelicanconf.py), the same name deploy/, bench/ and the tests import: one module object per file.
"""
