"""What the test packages share: plain modules to import (fixtures live in the conftest.py files)."""
