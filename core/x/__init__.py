"""The X (Twitter) API v1.1 client: OAuth 1.0a PIN sign-in, upload, refresh."""
