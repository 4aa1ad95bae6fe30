"""The whole test process runs fully gevent-patched, like every horde process (see ADR 0002)."""

from gevent import monkey

monkey.patch_all()
