"""``/v1/stream``: a live call over a WebSocket, analysed as it arrives.

Protocol: connect with ``?token=<access token or API key>`` (or an ``Authorization`` header),
and ``&encoding=opus`` (optionally ``&sample_rate=48000``) for Opus; the server sends
``{"type": "ready", ...}``. Send the call as binary messages: by default 16 kHz mono 16-bit
little-endian PCM, any size; with Opus, one raw Opus packet a message (``voxguard.audio.opus``
says what happens to a damaged one). About once a second of audio the server sends
``{"type": "update", ...}`` (who is speaking, the spoof probability of the last window, the
risk, the turns so far). Send the text ``end`` to finish: the server analyses the whole call
as a file, stores it as one event (operation ``stream``) with its alerts, sends
``{"type": "final", "result": ...}`` and closes. If the client just disconnects, the call is
stored all the same. Errors come as ``{"type": "error", "error", "detail", "code"}`` before
the socket closes.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status
from starlette.concurrency import run_in_threadpool

from voxguard.audio.live import live_decoder
from voxguard.errors import AuthenticationRequired, InvalidInput, VoxGuardError
from voxguard.services.auth import AuthService, Principal
from voxguard.services.runtime import Runtime
from voxguard.services.schemas import Role
from voxguard.services.streaming import UPDATE_S, LiveAnalysis
from voxguard.store.db import unit_of_work

router = APIRouter(tags=["streaming"])
log = logging.getLogger(__name__)

_CLOSE_FOR = {
    "authentication_required": status.WS_1008_POLICY_VIOLATION,
    "invalid_credentials": status.WS_1008_POLICY_VIOLATION,
    "permission_denied": status.WS_1008_POLICY_VIOLATION,
    "audio_too_long": status.WS_1009_MESSAGE_TOO_BIG,
    "audio_too_large": status.WS_1009_MESSAGE_TOO_BIG,
}


def _authenticate(runtime: Runtime, credential: str) -> Principal:
    with unit_of_work(runtime.store.sessions) as session:
        principal = AuthService(session, runtime.settings).authenticate(credential)
    runtime.limiter.hit(principal.key_id)
    principal.require(Role.OPERATOR)
    return principal


def _credential(websocket: WebSocket, token: str | None) -> str:
    if token:
        return token
    scheme, _, value = websocket.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    raise AuthenticationRequired(
        "Credentials required: connect with ?token=<access token or API key>."
    )


async def _fail(websocket: WebSocket, exc: VoxGuardError) -> None:
    await websocket.send_json({"type": "error", **exc.to_dict()})
    await websocket.close(code=_CLOSE_FOR.get(exc.code, status.WS_1003_UNSUPPORTED_DATA))


async def _store_abandoned(live: LiveAnalysis) -> None:
    """A client that hangs up without 'end': its call is still analysed and stored."""
    if not live.received_s:
        return
    try:
        await run_in_threadpool(live.finish)
    except VoxGuardError as exc:  # e.g. a call with no speech: nothing to store
        log.info("stream closed without a storable call: %s", exc.message)


@router.websocket("/v1/stream")
async def stream(
    websocket: WebSocket,
    token: str | None = None,
    encoding: str | None = None,
    sample_rate: str | None = None,  # checked by live_decoder, to answer a bad one in JSON
) -> None:
    runtime: Runtime = websocket.app.state.runtime
    await websocket.accept()
    try:
        principal = await run_in_threadpool(_authenticate, runtime, _credential(websocket, token))
        decoder = live_decoder(encoding, sample_rate)
        live = await run_in_threadpool(LiveAnalysis, runtime, principal.actor, decoder)
    except VoxGuardError as exc:
        await _fail(websocket, exc)
        return
    await websocket.send_json(
        {
            "type": "ready",
            "sample_rate": decoder.sample_rate,
            "format": decoder.name,
            "update_s": UPDATE_S,
            "max_duration_s": runtime.settings.max_duration_s,
        }
    )
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                await _store_abandoned(live)
                return
            if message.get("bytes") is not None:
                updates = await run_in_threadpool(live.feed_bytes, message["bytes"])
                for update in updates:
                    await websocket.send_text(update.model_dump_json())
            elif (message.get("text") or "").strip().lower() == "end":
                final = await run_in_threadpool(live.finish)
                await websocket.send_json(
                    {"type": "final", "result": final.model_dump(mode="json")}
                )
                await websocket.close()
                return
            else:
                raise InvalidInput("Send audio as binary messages, and the text 'end' to finish.")
    except VoxGuardError as exc:
        await _fail(websocket, exc)
    except WebSocketDisconnect:
        await _store_abandoned(live)
