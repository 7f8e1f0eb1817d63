"""Gemini's connection over a real-latency TLS link: python -m benchmarks.bench_gemini_link.

What a turn waits for before Gemini even sees its request: DNS aside, a TCP handshake
and a TLS handshake, one round trip each, unless a connection is already open. This
measures the time from sending a streamed chat completion to its first chunk, through
the app's own Gemini client (`app/chat/gemini.py`), against the fake Gemini served over
HTTPS (a throwaway self-signed certificate) behind a proxy that delays every byte by half
a round trip (tests/tcp_proxy.py):

* the first turn on a cold connection, as before `GeminiClients.prepare` opened one ahead;
* the first turn after the connection was opened ahead (`GeminiClients.warm_up`);
* a turn after an idle pause longer than httpx's default keep-alive (5 s): with the
  openai client's default pool, as before, and with TaskChat's (settings.gemini_keepalive).

The baseline of each pair runs in the same process, interleaved with it.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import ipaddress
import os
import ssl
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from benchmarks.report import Figure, print_table, write_json
from tests.fakes.gemini import MODEL, FakeGemini
from tests.tcp_proxy import TcpProxy

KEY = "bench-key"


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (written to folder): cert and key paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake Gemini")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def _first_chunk(client: Any) -> float:
    """Milliseconds from sending a streamed completion to its first chunk (read to the end)."""
    started = time.perf_counter()
    stream = await client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=True
    )
    first = None
    async for _ in stream:
        if first is None:
            first = (time.perf_counter() - started) * 1000
    assert first is not None
    return first


async def _run(runs: int, pause: float, rtt_ms: float) -> list[Figure]:
    from openai import AsyncOpenAI

    from app.chat.gemini import GeminiClients
    from app.config import get_settings

    with tempfile.TemporaryDirectory() as folder:
        cert, key = _certificate(Path(folder))
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(cert, key)
        fake = FakeGemini(tls=tls).start()
        gemini_port = urlsplit(fake.base_url).port
        assert gemini_port is not None
        proxy = await TcpProxy("127.0.0.1", gemini_port).start()
        proxy.delay = rtt_ms / 2000
        base_url = f"https://127.0.0.1:{proxy.port}/v1beta/openai/"
        os.environ.update(
            TASKCHAT_DATA_DIR=folder,
            GEMINI_BASE_URL=base_url,
            GEMINI_API_KEY=KEY,
            TASKCHAT_MAX_RETRIES="0",
            SSL_CERT_FILE=str(cert),  # the app's client trusts the throwaway certificate
        )
        get_settings.cache_clear()
        settings = get_settings()
        samples: dict[str, list[float]] = {k: [] for k in ("cold", "warm", "idle_old", "idle")}
        try:
            for _ in range(runs):
                # A fresh GeminiClients per sample: its own pool, no connection yet.
                cold = GeminiClients().get(settings)
                samples["cold"].append(await _first_chunk(cold))
                await cold.close()

                warm = GeminiClients().get(settings)
                if not await GeminiClients.warm_up(warm):
                    raise RuntimeError("the connection could not be opened ahead")
                listed = fake.model_lists[-1].peer
                samples["warm"].append(await _first_chunk(warm))
                if fake.requests[-1].peer != listed:
                    raise RuntimeError("the turn did not reuse the connection opened ahead")
                await warm.close()

                # The pool as it was: the openai client's defaults (5 s keep-alive).
                old = AsyncOpenAI(base_url=base_url, api_key=KEY, max_retries=0)
                ours = GeminiClients().get(settings)
                for client in (old, ours):
                    await _first_chunk(client)
                await asyncio.sleep(pause)
                samples["idle_old"].append(await _first_chunk(old))
                samples["idle"].append(await _first_chunk(ours))
                for client in (old, ours):
                    await client.close()
        finally:
            await proxy.stop()
            fake.stop()
    cold, warm, idle_old, idle = (
        statistics.median(samples[k]) for k in ("cold", "warm", "idle_old", "idle")
    )
    link = f"TLS, {rtt_ms:.0f} ms round trip"
    return [
        Figure(
            "Gemini first chunk, first turn on a new connection",
            samples["cold"],
            note=f"{link}; as before the connection was opened ahead",
        ),
        Figure(
            "Gemini first chunk, first turn after prepare opened the connection",
            samples["warm"],
            note=f"{link}; {cold - warm:.0f} ms sooner than a new connection",
        ),
        Figure(
            f"Gemini first chunk after {pause:.1f} s idle, openai's pool (5 s keep-alive)",
            samples["idle_old"],
            note=f"{link}; dials again",
        ),
        Figure(
            f"Gemini first chunk after {pause:.1f} s idle, TaskChat's pool "
            f"({settings.gemini_keepalive:.0f} s keep-alive)",
            samples["idle"],
            note=f"{link}; {idle_old - idle:.0f} ms sooner",
        ),
    ]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run (CI checks it works)")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--pause", type=float, default=6.0, help="idle seconds (> 5)")
    parser.add_argument("--rtt", type=float, default=50.0, help="round trip, ms")
    args = parser.parse_args(argv)
    runs = 1 if args.quick else args.runs
    figures = asyncio.run(_run(runs, args.pause, args.rtt))
    print_table(f"Gemini connection ({runs} runs, fake Gemini over a delayed TLS link)", figures)
    if not args.quick:
        print(f"written {write_json('gemini_link', figures, runs=runs, rtt_ms=args.rtt)}")
    return {f.name: f.to_json() for f in figures}


if __name__ == "__main__":
    main()
