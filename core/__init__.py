"""Qt-free logic of Avatar Studio: imaging, the X client, credentials and the sandbox.

Nothing below this package may import PySide6 or the gui package (an import-linter
contract in pyproject.toml enforces it). The version is in ``version.py``.
"""
