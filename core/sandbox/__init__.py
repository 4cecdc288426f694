"""A faithful local stand-in for the parts of the X API v1.1 this app uses."""
