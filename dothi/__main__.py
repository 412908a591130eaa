"""``python -m dothi``: the ``dothi`` command without its installed script."""

from dothi.cli import main

raise SystemExit(main())
