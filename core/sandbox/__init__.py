"""A faithful local stand-in for the parts of the X API v1.1 this app uses.

``SandboxServer`` (server.py) runs it in-process; ``avatar-studio-cli sandbox`` runs it
standalone. See the module docstrings for the behaviour chosen where X is undocumented.
"""
