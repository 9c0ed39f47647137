#!/usr/bin/env python3
"""An independent reader of TensorBoard event files, for the tests.

It shares nothing with dunet's writer: the CRC-32C is computed here from its polynomial, and
the protobuf wire format is decoded by hand, with the field numbers of TensorFlow's
event.proto and summary.proto (Event: wall_time 1, step 2, file_version 3, summary 5,
session_log 7; Summary: value 1; Value: tag 1, simple_value 2, image 4; Image: height 1,
width 2, colorspace 3, encoded_image_string 4; SessionLog: status 1).

    tfevents_reader.py FILE...   prints every event of the files as JSON lines
"""
import json
import struct
import sys

_TABLE = []
for _byte in range(256):
    _crc = _byte
    for _ in range(8):
        _crc = (_crc >> 1) ^ 0x82F63B78 if _crc & 1 else _crc >> 1
    _TABLE.append(_crc)


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked(crc):
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def records(path):
    """The payloads of the file's records; raises ValueError on a bad CRC or a cut record."""
    data = open(path, "rb").read()
    at = 0
    while at < len(data):
        if at + 12 > len(data):
            raise ValueError(f"{path}: cut-off record header at byte {at}")
        length, = struct.unpack_from("<Q", data, at)
        length_crc, = struct.unpack_from("<I", data, at + 8)
        if masked(crc32c(data[at:at + 8])) != length_crc:
            raise ValueError(f"{path}: bad length CRC at byte {at}")
        end = at + 12 + length
        if end + 4 > len(data):
            raise ValueError(f"{path}: cut-off record at byte {at}")
        payload = data[at + 12:end]
        payload_crc, = struct.unpack_from("<I", data, end)
        if masked(crc32c(payload)) != payload_crc:
            raise ValueError(f"{path}: bad payload CRC at byte {at}")
        yield payload
        at = end + 4


def _varint(data, at):
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def fields(data):
    """(field number, wire type, value) of one message: ints, 8/4 raw bytes, or bytes."""
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _varint(data, at)
        elif wire == 1:
            value, at = data[at:at + 8], at + 8
        elif wire == 2:
            length, at = _varint(data, at)
            value, at = data[at:at + length], at + length
        elif wire == 5:
            value, at = data[at:at + 4], at + 4
        else:
            raise ValueError(f"wire type {wire} of field {number}")
        yield number, wire, value


def _image(data):
    image = {}
    for number, _, value in fields(data):
        name = {1: "height", 2: "width", 3: "colorspace"}.get(number)
        if name:
            image[name] = value
        elif number == 4:
            image["png_bytes"] = len(value)
            image["png_signature_ok"] = value[:8] == b"\x89PNG\r\n\x1a\n"
            image["png_width"], image["png_height"] = struct.unpack(">II", value[16:24])
    return image


def event(payload):
    result = {"scalars": {}, "images": {}}
    for number, _, value in fields(payload):
        if number == 1:
            result["wall_time"], = struct.unpack("<d", value)
        elif number == 2:
            result["step"] = value - (1 << 64) if value >= 1 << 63 else value
        elif number == 3:
            result["file_version"] = value.decode()
        elif number == 5:
            for summary_field, _, entry in fields(value):
                if summary_field != 1:
                    continue
                tag, scalar, image = None, None, None
                for value_field, _, part in fields(entry):
                    if value_field == 1:
                        tag = part.decode()
                    elif value_field == 2:
                        scalar, = struct.unpack("<f", part)
                    elif value_field == 4:
                        image = _image(part)
                if scalar is not None:
                    result["scalars"][tag] = scalar
                if image is not None:
                    result["images"][tag] = image
        elif number == 7:
            result["session_log"] = dict((n, v) for n, _, v in fields(value)).get(1, 0)
    return result


def read_events(path):
    return [event(payload) for payload in records(path)]


if __name__ == "__main__":
    for name in sys.argv[1:]:
        for entry in read_events(name):
            print(json.dumps(entry))
