"""The window's collaborators, built once by the app (tests build their own)."""

from __future__ import annotations

from dataclasses import dataclass, field

from avatar_studio.core.credentials import CredentialStore
from avatar_studio.core.publish import Publisher
from avatar_studio.core.services import registry
from avatar_studio.core.settings import Settings, SettingsWriter, load_settings
from avatar_studio.gui.accounts import ServiceLookup
from avatar_studio.gui.sandboxhost import BlueskySandboxHost, MastodonSandboxHost, SandboxHost
from avatar_studio.gui.tasks import TaskRunner


@dataclass
class AppContext:
    runner: TaskRunner = field(default_factory=TaskRunner)
    store: CredentialStore = field(default_factory=CredentialStore)
    #: Service key -> Service; tests pass services with fast poll and retry policies.
    services: ServiceLookup = registry.get
    #: The publish use case: its render and network pools outlive single uploads.
    publisher: Publisher = field(default_factory=Publisher)
    sandbox: SandboxHost | None = field(default_factory=SandboxHost)
    #: The Mastodon sandbox behind the Mastodon page's "Try the sandbox".
    mastodon_sandbox: MastodonSandboxHost | None = field(default_factory=MastodonSandboxHost)
    #: The Bluesky PDS sandbox behind the Bluesky page's "Try the sandbox".
    bluesky_sandbox: BlueskySandboxHost | None = field(default_factory=BlueskySandboxHost)
    settings: Settings = field(default_factory=load_settings)
    #: Where the window's settings changes go: written off the GUI thread, in order.
    settings_writer: SettingsWriter = field(default_factory=SettingsWriter)
    #: Milliseconds of pause before the exact preview is rendered.
    preview_debounce_ms: int = 300
    #: How long closing the window waits for background work (a keyring write, a
    #: request) to finish; what is still stuck on the network after that is abandoned.
    close_grace_s: float = 3.0
