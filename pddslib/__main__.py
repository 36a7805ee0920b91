"""``python -m pddslib``: the ``pdds`` command."""
from .cli import main

raise SystemExit(main())
