import sys

from avatar_studio.core.cli import main

sys.exit(main())
