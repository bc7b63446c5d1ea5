"""What a running process holds: settings, the database engine and the vault.

Built once per process from explicit Settings (no globals at import) and closed on shutdown.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from mikrosync.db.session import SessionMaker, make_engine, make_sessionmaker
from mikrosync.security.vault import Vault
from mikrosync.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: SessionMaker
    vault: Vault
    secret_key: str

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        secret_key = settings.resolved_secret_key()
        engine = make_engine(settings.resolved_database_url)
        return cls(
            settings=settings,
            engine=engine,
            sessionmaker=make_sessionmaker(engine),
            vault=Vault(secret_key, settings.previous_keys()),
            secret_key=secret_key,
        )

    async def close(self) -> None:
        await self.engine.dispose()
