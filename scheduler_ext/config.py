"""Every setting of ``scheduler-ext serve`` in one validated object.

The service is configured from three places, in this order of precedence: command-line flags,
environment variables (prefix ``SCHEDULER_EXT_``, nested groups joined by ``__``, e.g.
``SCHEDULER_EXT_PLANNING__TIME_LIMIT_SECONDS=5``), and an optional YAML file (``--config``) with the
same nested keys. Everything is validated once, at start: a bad value stops the service before it
listens, with one line per bad value naming the setting and where it can be set, instead of a
failure minutes later in a watch thread.

Settings are passed down explicitly (``create_app(settings)``); nothing reads the environment after
this module has built the object.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated, Any, Literal, cast

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)
from pydantic_settings import SettingsError as SourceError

from scheduler_ext.errors import validation_lines
from scheduler_ext.extender.scoring import BEST_FIT, Rule
from scheduler_ext.planning.leader import LeaseTimes
from scheduler_ext.planning.options import OwnerKinds, PlanOptions

ENV_PREFIX = "SCHEDULER_EXT_"
ENV_DELIMITER = "__"


class SettingsError(Exception):
    """Settings that cannot be used; ``lines`` holds one message per bad value."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("; ".join(lines))
        self.lines = lines


class _Group(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerSettings(_Group):
    host: str = "127.0.0.1"
    """Address to listen on. Loopback by default: the bind verb acts with the service's own
    credentials, so reaching it from the network is a choice (``0.0.0.0`` in a pod), best made
    together with ``tls_client_ca_file`` so that only kube-scheduler can call it."""
    port: int = Field(default=8888, ge=1, le=65535)
    admin_port: int | None = Field(default=None, ge=1, le=65535)
    """With it, the plans API and /metrics move off the verbs' port to this one (plain HTTP, no
    client certificate), so that a NetworkPolicy can admit kube-scheduler to the verbs and the
    scrapers to the metrics. /healthz and /readyz answer on both."""
    admin_host: str | None = None
    """Address of ``admin_port``; the verbs' ``host`` when unset."""
    """Port to listen on; kube-scheduler's urlPrefix is http(s)://HOST:PORT/scheduler."""
    tls_cert_file: Path | None = None
    """PEM certificate; with ``tls_key_file`` the service speaks HTTPS (``enableHTTPS: true``)."""
    tls_key_file: Path | None = None
    """PEM private key of ``tls_cert_file``."""
    tls_client_ca_file: Path | None = None
    """PEM CA bundle; with it every client must present a certificate it signed (mutual TLS:
    kube-scheduler's ``tlsConfig.certFile``/``keyFile``), else the handshake is refused."""
    tls_reload_seconds: float = Field(default=30.0, gt=0)
    """How often the certificate, key and client CA files are checked for changes (a renewed
    certificate is used for new connections without a restart)."""
    header_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    """A connection whose request headers are not in by then is closed (idle or slow clients
    cannot hold connections: kube-scheduler sends a whole request at once)."""
    max_body_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    """Larger request bodies get 413. A full NodeList of 5,000 nodes is about 40 MiB."""
    large_bodies_at_once: int = Field(default=1, ge=1, le=64)
    """Bodies over 1 MiB read and answered at once; more wait (small bodies never do). One is
    enough for kube-scheduler, which sends one filter or prioritize call at a time; a 62 MiB
    body takes about 360 MiB to read and parse."""

    @model_validator(mode="after")
    def _tls_pair(self) -> ServerSettings:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file must be given together")
        if self.admin_port is not None and self.admin_port == self.port:
            raise ValueError("admin_port must differ from port")
        if self.tls_client_ca_file is not None and self.tls_cert_file is None:
            raise ValueError("tls_client_ca_file needs tls_cert_file and tls_key_file (HTTPS)")
        for path in (self.tls_cert_file, self.tls_key_file, self.tls_client_ca_file):
            if path is not None and not path.is_file():
                raise ValueError(f"no such file: {path}")
        return self


class ClusterSettings(_Group):
    kubeconfig: Path | None = None
    """kubeconfig file; without it $KUBECONFIG, ~/.kube/config, then the in-cluster config."""
    watch_timeout_seconds: int = Field(default=300, ge=1)
    """Server-side timeout of one watch request; the watch then resumes from its resourceVersion."""
    backoff_initial_seconds: float = Field(default=0.2, gt=0)
    """First wait after a failed list or watch; doubled (with jitter) on each further failure."""
    backoff_max_seconds: float = Field(default=10.0, gt=0)
    """Longest wait between two attempts."""
    assume_ttl_seconds: float = Field(default=30.0, gt=0)
    """How long a pod bound by the bind verb counts on its node before the watch confirms it."""
    staleness_seconds: float = Field(default=90.0, ge=2)
    """The state counts as stale when some watch has not heard from the API server for this long
    (a healthy watch hears a bookmark about once a minute; a silent one is reopened after half
    of it): /readyz answers 503 and no plan is made until every watch is heard again."""
    namespace: str | None = None
    """The namespace of the service's own objects, its PackingPlans and its Lease (one Role grants
    both, deploy/rbac.yaml); unset: the namespace of the pod it runs in, else ``default``."""
    bind_wait_seconds: float = Field(default=2.0, ge=0, le=4.0)
    """How long the bind verb waits for the watch to show a pod it was asked to bind
    (kube-scheduler's own watch can be a moment ahead); below kube-scheduler's 5 s httpTimeout."""


class PlanningSettings(PlanOptions):
    """The planning loop's settings: the planning options of every round, plus the loop's own."""

    movable_owner_kinds: Annotated[OwnerKinds, NoDecode] = PlanOptions().movable_owner_kinds
    """As the planning option; in the environment a comma-separated list, not JSON."""
    enabled: bool = True
    """Run the planning loop (plans are only recorded: the service runs in dry-run mode)."""
    debounce_seconds: float = Field(default=1.0, ge=0)
    """A pod must stay Unschedulable this long before a round starts; arrivals meanwhile batch."""
    history: int = Field(default=50, ge=1, le=10_000)
    """Plans kept for the plans API, newest first; older ones are dropped (PackingPlans: deleted
    once finished, or at once in dry-run, where nothing carries a plan out)."""
    journal: Literal["auto", "packingplans", "memory"] = "auto"
    """Where plans are kept. ``packingplans``: as PackingPlan objects in ``cluster.namespace``
    (they survive restarts, every replica serves them; the CRD must be installed). ``memory``:
    in this process only. ``auto``: PackingPlans if the API server serves them at start, else
    memory (one log line says which)."""
    start_method: Literal["forkserver", "spawn"] = "forkserver"
    """How solver child processes start; never "fork" in a threaded service."""


class LeaderElectionSettings(_Group):
    """The Lease that lets one replica plan (``planning/leader.py``); client-go's semantics and
    kube-scheduler's defaults. The Lease lives in ``cluster.namespace``."""

    enabled: bool = True
    """Off: this replica plans as if it held the Lease (one replica only)."""
    lease_name: str = Field(default="scheduler-ext", min_length=1, max_length=253)
    lease_duration_seconds: float = Field(default=15.0, ge=1)
    """How long followers wait, after the last renewal they saw, before taking the Lease."""
    renew_deadline_seconds: float = Field(default=10.0, ge=1)
    """How long the holder keeps retrying a renewal before it stops planning."""
    retry_period_seconds: float = Field(default=2.0, gt=0)
    """How often the holder renews and followers try to acquire."""
    identity: str | None = None
    """This replica's name in the Lease; unset: the host name (the pod's name) and a UUID."""

    @property
    def times(self) -> LeaseTimes:
        return LeaseTimes(
            self.lease_duration_seconds, self.renew_deadline_seconds, self.retry_period_seconds
        )

    @model_validator(mode="after")
    def _ordered(self) -> LeaderElectionSettings:
        self.times  # noqa: B018  (LeaseTimes refuses durations out of client-go's order)
        return self


class ExecutionSettings(_Group):
    """How enforce mode carries out a plan (``docs/execution.md``)."""

    deadline_seconds: float = Field(default=120.0, gt=0)
    """A plan not Completed this long after it was handed over is aborted and its reservations
    dropped (Koordinator's migration TTL is 5 minutes; a kwok or a warm cluster replaces a pod in
    seconds)."""
    poll_seconds: float = Field(default=0.5, gt=0, le=10)
    """The executor re-reads the watched state at least this often while a plan runs."""
    event_namespace: str = "default"
    """Namespace of the Events about a plan (a cluster-scoped object's Events live there)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_DELIMITER,
        extra="forbid",
        frozen=True,
    )

    mode: Literal["dry-run", "enforce"] = "dry-run"
    """dry-run: plans are computed, recorded and served; nothing is evicted. enforce: an
    actionable plan made on a fresh state is carried out (``scheduler_ext/execution/``,
    docs/execution.md): room held, victims evicted through the Eviction API, pods bound."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Log level of the service."""
    prioritize_rule: Rule = BEST_FIT
    """How the prioritize verb scores nodes: ``best-fit`` (the roomiest resource's leftover) or
    ``policy`` (the learned policy, retrained for scoring). The policy left 4% fewer pods Pending
    on the fragmentation benchmark but costs about twice best fit's time per call where every
    node scores; it becomes the default once a quiet-machine latency run shows it within the
    verb's budget (docs/benchmarks.md, issue 16 session 7)."""
    server: ServerSettings = ServerSettings()
    cluster: ClusterSettings = ClusterSettings()
    planning: PlanningSettings = PlanningSettings()
    leader_election: LeaderElectionSettings = LeaderElectionSettings()

    execution: ExecutionSettings = ExecutionSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Flags, then the environment, then the file named by ``yaml_file`` (``load_settings``)."""
        return (init_settings, env_settings, _SettingsFile(settings_cls))


class _SettingsFile(YamlConfigSettingsSource):
    """pydantic-settings' YAML source, each way the file can be unusable told in one line."""

    def _read_file(self, file_path: Path | Traversable) -> dict[str, Any]:
        try:
            data = super()._read_file(file_path)
        except OSError as exc:
            raise SettingsError([f"{file_path}: cannot read: {exc.strerror or exc}"]) from exc
        except yaml.YAMLError as exc:
            flat = " ".join(str(exc).split())
            raise SettingsError([f"{file_path}: invalid YAML: {flat}"]) from exc
        if not isinstance(data, dict):
            raise SettingsError([f"{file_path}: expected a mapping of settings"])
        return data


def _reading(path: Path) -> type[Settings]:
    """``Settings`` that also read ``path``.

    pydantic-settings takes the YAML file from the model's config only, not per instance
    (pydantic/pydantic-settings#259), so a load with a file uses a subclass that names it. The
    source skips a file that does not exist; one named on the command line must.
    """
    try:
        path.open("rb").close()
    except OSError as exc:
        raise SettingsError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    config = SettingsConfigDict(yaml_file=path)
    return cast(
        "type[Settings]",
        type("Settings", (Settings,), {"model_config": config, "__module__": __name__}),
    )


def _where(location: Sequence[int | str]) -> str:
    dotted = ".".join(str(part) for part in location)
    env = ENV_PREFIX + ENV_DELIMITER.join(str(part) for part in location).upper()
    return f"{dotted} ({env})"


def describe(error: ValidationError) -> list[str]:
    """One line per bad value: the setting, the environment variable for it, and why."""
    return validation_lines(error, locate=_where, root="settings", show_input=True)


def _without_none(values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Mapping):
            nested = _without_none(value)
            if nested:
                out[key] = nested
        elif value is not None:
            out[key] = value
    return out


def load_settings(
    overrides: Mapping[str, Any] | None = None, *, config_file: Path | str | None = None
) -> Settings:
    """Settings from flags (``overrides``, nested dicts; None values are ignored), the environment
    and ``config_file``; SettingsError lists every bad value."""
    settings_cls = _reading(Path(config_file)) if config_file else Settings
    try:
        return settings_cls(**_without_none(overrides or {}))
    except ValidationError as exc:
        raise SettingsError(describe(exc)) from None
    except SourceError as exc:  # a group given whole in the environment, as invalid JSON
        raise SettingsError([_source_line(exc)]) from None


def _source_line(error: SourceError) -> str:
    """pydantic-settings' 'error parsing value for field "planning" ...' as a settings line."""
    text = " ".join(str(error).split())
    for group in Settings.model_fields:
        if f'field "{group}"' in text:
            return f"{group} ({ENV_PREFIX}{group.upper()}): expected a JSON object of settings"
    return text
