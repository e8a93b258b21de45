"""`python -m gimp_gptimage`: the same as the `gimp-gptimage` command."""

import sys

from .cli.main import main

sys.exit(main())
