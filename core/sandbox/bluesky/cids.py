"""Content identifiers as the PDS makes them: raw sha-256 CIDs for blobs (``bafkrei…``),
dag-cbor sha-256 CIDs for records (``bafyrei…``), with the multiformats libraries."""

from __future__ import annotations

import base64
from typing import Any

import dag_cbor
from multiformats import CID, multihash


def blob_cid(data: bytes) -> str:
    """CIDv1, codec raw (0x55), sha2-256, base32: the ``ref.$link`` of an uploaded blob."""
    return str(CID("base32", 1, "raw", multihash.digest(data, "sha2-256")))


def record_cid(value: dict[str, Any]) -> str:
    """CIDv1 dag-cbor of a record given in its JSON form (``$link`` -> CID links)."""
    encoded = dag_cbor.encode(_to_ipld(value))
    return str(CID("base32", 1, "dag-cbor", multihash.digest(encoded, "sha2-256")))


def is_cid(text: object) -> bool:
    if not isinstance(text, str):
        return False
    try:
        CID.decode(text)
    except (ValueError, KeyError):
        return False
    return True


def _to_ipld(value: Any) -> Any:
    """JSON data model -> IPLD data model: {"$link": cid} is a link, {"$bytes": b64} bytes."""
    if isinstance(value, dict):
        if set(value) == {"$link"} and isinstance(value["$link"], str):
            return CID.decode(value["$link"])
        if set(value) == {"$bytes"} and isinstance(value["$bytes"], str):
            text = value["$bytes"]
            return base64.b64decode(text + "=" * (-len(text) % 4))
        return {str(k): _to_ipld(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_ipld(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # DAG-CBOR has no floats in atproto records
    return value
