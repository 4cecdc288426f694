"""Services behind one interface: :mod:`.base` (the contract), :mod:`.errors` (the error
categories), :mod:`.registry` (key -> service), one subpackage per concrete service."""
