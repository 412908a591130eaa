"""The ``dothi`` program: its command line and the demo city it can load."""
