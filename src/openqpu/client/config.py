"""Where the client finds its server and API key: arguments, environment, config file.

``openqpu login`` writes ``~/.config/openqpu/config.json`` (or ``$OPENQPU_CONFIG``),
readable by its owner only. A key from the environment or the file is never sent
to another server named by an explicit URL argument.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from openqpu.client.errors import ClientError

CONFIG_ENV = "OPENQPU_CONFIG"
URL_ENV = "OPENQPU_URL"
TOKEN_ENV = "OPENQPU_TOKEN"


class NotConfigured(ClientError):
    """No server URL or API key was given and none is saved."""


def config_path() -> Path:
    """The config file: ``$OPENQPU_CONFIG``, else ``$XDG_CONFIG_HOME/openqpu/config.json``.

    ``XDG_CONFIG_HOME`` defaults to ``~/.config``.
    """
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "openqpu" / "config.json"


def load_config(path: Path | None = None) -> dict[str, str]:
    """The saved ``{"url", "token"}``, or ``{}`` when there is no config file.

    Raises:
        NotConfigured: the file exists but is not a JSON object of strings.
    """
    path = path or config_path()
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise NotConfigured(f"cannot read the config file {path}: {exc}") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise NotConfigured(f"the config file {path} is not a JSON object of strings")
    return data


def save_config(url: str, token: str, path: Path | None = None) -> Path:
    """Save the server URL and API key, readable by the owner only (mode 0600).

    The file is replaced atomically, so a crash never leaves half a file.

    Returns:
        The path written.
    """
    path = path or config_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    text = json.dumps({"url": url.rstrip("/"), "token": token}, indent=2) + "\n"
    # mkstemp creates the file with mode 0600 before anything is written to it.
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".config-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(text)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def resolve_server(url: str | None = None, token: str | None = None) -> tuple[str, str]:
    """The server URL and API key to use.

    Each comes from the argument, else the environment (``OPENQPU_URL``,
    ``OPENQPU_TOKEN``), else the config file. With an explicit ``url``, a key
    from the environment or the file is only used if it was given for that URL.

    Returns:
        ``(url, token)``.

    Raises:
        NotConfigured: no URL, or no key for the URL, was found.
    """
    saved = load_config()
    env_url = os.environ.get(URL_ENV) or None
    chosen = url or env_url or saved.get("url")
    if not chosen:
        raise NotConfigured(
            "no server configured: run 'openqpu login --url URL --token KEY', "
            f"or set {URL_ENV} and {TOKEN_ENV}, or pass --url and --token"
        )
    if token:
        return chosen, token
    candidates = []
    if not url or _same_server(url, env_url):
        candidates.append(os.environ.get(TOKEN_ENV))
    if _same_server(chosen, saved.get("url")):
        candidates.append(saved.get("token"))
    found = next((candidate for candidate in candidates if candidate), None)
    if not found:
        raise NotConfigured(
            f"no API key for {chosen}: pass --token, set {TOKEN_ENV}, "
            f"or run 'openqpu login --url {chosen} --token KEY'"
        )
    return chosen, found


def _same_server(first: str | None, second: str | None) -> bool:
    if not first or not second:
        return False
    return first.rstrip("/") == second.rstrip("/")
