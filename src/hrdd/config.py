"""Settings: one class, read from the environment (prefix HRDD_) and an optional .env file."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _bundled(folder: str) -> Path:
    """Content folders live at the top of the checkout (questionnaires/, scoring/, evidence/)."""
    return PROJECT_ROOT / folder


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HRDD_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./hrdd.db",
        description="SQLAlchemy URL; PostgreSQL as postgresql+psycopg://user@host/db",
    )
    questionnaires_dir: Path = Field(default_factory=lambda: _bundled("questionnaires"))
    scoring_dir: Path = Field(default_factory=lambda: _bundled("scoring"))
    evidence_dir: Path = Field(default_factory=lambda: _bundled("evidence"))
    data_dir: Path = Field(
        default=Path("./hrdd-data"),
        description="Uploaded files and generated reports are stored here, outside the database",
    )
    cors_origins: list[str] = Field(default_factory=list)
    log_level: str = "INFO"
    max_body_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    body_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="A request body must arrive whole within this time after its headers "
        "(408 otherwise), so slow senders cannot hold the server's request slots",
    )
    max_upload_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    max_csv_rows: int = Field(default=200_000, gt=0)
    response_cache_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=0,
        description="Memory per process for whole responses of the busiest reads (a score, a "
        "risk view), served again while the database is unchanged; 0 turns it off",
    )

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("log level must be DEBUG, INFO, WARNING or ERROR")
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
