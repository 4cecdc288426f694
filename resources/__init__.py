"""Icons, the .desktop file, AppStream metainfo and the style sheet (data only)."""
