import sys

from avatar_studio.gui.app import main

sys.exit(main())
