"""``voxguard serve`` and ``voxguard cert``."""

from __future__ import annotations

import datetime as dt
import ipaddress
import signal
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from voxguard.cli import local
from voxguard.cli.errors import handle_errors
from voxguard.cli.local import console
from voxguard.errors import InvalidInput


@handle_errors
def serve(
    host: Annotated[str | None, typer.Option(help="Interface (default VOXGUARD_API_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default VOXGUARD_API_PORT).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    ssl_certfile: Annotated[Path | None, typer.Option(help="PEM certificate for HTTPS.")] = None,
    ssl_keyfile: Annotated[Path | None, typer.Option(help="PEM private key for HTTPS.")] = None,
    job_workers: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=64,
            help="Background jobs run at once, in a process beside the API "
            "(default VOXGUARD_JOB_WORKERS; 0: none, `voxguard worker` runs them).",
        ),
    ] = None,
) -> None:
    """Run the HTTP API (OpenAPI docs at /docs) and the background job workers."""
    # This process only supervises: it imports neither the app nor the models (each API
    # worker and the job process load their own; tests/cli/test_serve_processes.py).
    import uvicorn

    from voxguard.logs import configure_logging
    from voxguard.services.auth import bootstrap_admin_key
    from voxguard.services.job_queue import describe
    from voxguard.services.job_worker import start_job_process, stop_job_process
    from voxguard.services.runtime import with_signing_secret
    from voxguard.store.setup import open_store

    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise InvalidInput("--ssl-certfile and --ssl-keyfile go together.")
    settings = local.settings()
    log_config = configure_logging(settings.log_format, settings.log_level)
    host = host or settings.api_host
    port = port or settings.api_port
    # Migrate and create the first admin key once, before any worker starts.
    resolved = with_signing_secret(settings)  # the signing secret the workers must share
    store = open_store(resolved)
    try:
        bootstrap_admin_key(store, resolved)
        database = store.engine.url.render_as_string()
    finally:
        store.close()
    job_workers = settings.job_workers if job_workers is None else job_workers
    scheme = "https" if ssl_certfile else "http"
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    console.print(
        f"VoxGuard on [bold]{scheme}://{shown}:{port}[/] (web UI: /, API docs: /docs), "
        f"database {database}",
        soft_wrap=True,
    )
    console.print(
        f"Background jobs: {job_workers} worker(s) on {describe(settings)}"
        + ("" if job_workers else " (run `voxguard worker` to take them)"),
        soft_wrap=True,
    )
    # One process of job workers for the whole server, started before uvicorn's own.
    jobs = start_job_process(resolved, job_workers) if job_workers else None
    # uvicorn raises SIGTERM again once it has shut down: leave through the finally below.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        uvicorn.run(
            "voxguard.api.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            ssl_certfile=str(ssl_certfile) if ssl_certfile else None,
            ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None,
            # Applied again in each worker process; the request lines come from the app
            # (voxguard.api.request_context), with the request id and without query strings.
            log_config=log_config,
            log_level=settings.log_level.lower(),
            access_log=False,
        )
    finally:
        if jobs is not None:
            stop_job_process(jobs)


def _exit_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


@handle_errors
def cert(
    out_dir: Annotated[Path, typer.Option(help="Where to write cert.pem and key.pem.")] = Path("."),
    hostname: Annotated[list[str] | None, typer.Option(help="Names/IPs to cover.")] = None,
    days: Annotated[int, typer.Option(min=1, max=3650)] = 365,
) -> None:
    """Make a self-signed certificate for ``serve --ssl-certfile --ssl-keyfile``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    names = hostname or ["localhost", "127.0.0.1"]
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    alt: list[x509.GeneralName] = []
    for name in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt.append(x509.DNSName(name))
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = out_dir / "cert.pem", out_dir / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    console.print(f"Wrote {cert_path} and {key_path} for {', '.join(names)}, valid {days} days.")
    console.print(f"Run: voxguard serve --ssl-certfile {cert_path} --ssl-keyfile {key_path}")


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(cert)
