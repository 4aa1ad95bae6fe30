import sys

from horde.cli import main

sys.exit(main())
