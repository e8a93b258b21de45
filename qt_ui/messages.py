"""Localised wording for messages the core writes in English (parameter violations, the error funnel).

The core stays Qt-free and keeps the real API's English wording (which the local server must reproduce).
Here each known sentence is matched and re-rendered through Qt's translator; anything unknown (an API's
own message, say) is shown as it came, so nothing is ever hidden by a missing translation.
"""

from __future__ import annotations

import re

from PyQt6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication

from gimp_gptimage.api.errors import UserMessage

CTX = "Messages"

# (pattern on the English sentence, translatable template using the pattern's named groups)
_SENTENCES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p), t)
    for p, t in (
        (r"^Missing required parameter: 'prompt'\.$", QT_TRANSLATE_NOOP("Messages", "Enter a prompt.")),
        (
            r"^Missing required parameter: 'image'\.$",
            QT_TRANSLATE_NOOP("Messages", "An edit needs at least one image."),
        ),
        (
            r"^Invalid 'prompt': string too long\. Expected a string with maximum length (?P<max>\d+), "
            r"but got a string with length (?P<got>\d+) instead\.$",
            QT_TRANSLATE_NOOP("Messages", "The prompt is too long: {got} characters, at most {max} allowed."),
        ),
        (
            r"^Invalid 'image': array too long\. Expected an array with maximum length (?P<max>\d+), "
            r"but got an array with length (?P<got>\d+) instead\.$",
            QT_TRANSLATE_NOOP("Messages", "Too many images: {got}, at most {max} in all (the layer included)."),
        ),
        (
            r"^Invalid '(?P<param>\w+)': integer below minimum value\. Expected a value >= (?P<low>-?\d+), "
            r"but got (?P<got>-?\d+) instead\.$",
            QT_TRANSLATE_NOOP("Messages", "'{param}' must be at least {low} (got {got})."),
        ),
        (
            r"^Invalid '(?P<param>\w+)': integer above maximum value\. Expected a value <= (?P<high>-?\d+), "
            r"but got (?P<got>-?\d+) instead\.$",
            QT_TRANSLATE_NOOP("Messages", "'{param}' must be at most {high} (got {got})."),
        ),
        (
            r"^Invalid size '(?P<size>[^']*)'\. Width and height must both be divisible by (?P<grid>\d+)\.$",
            QT_TRANSLATE_NOOP("Messages", "Size {size}: width and height must both be multiples of {grid}."),
        ),
        (
            r"^Invalid size '(?P<size>[^']*)'\. Width and height must both be at most (?P<edge>\d+) pixels\.$",
            QT_TRANSLATE_NOOP("Messages", "Size {size}: width and height must both be at most {edge} pixels."),
        ),
        (
            r"^Invalid size '(?P<size>[^']*)'\. The total number of pixels must be between (?P<low>[\d,]+) and "
            r"(?P<high>[\d,]+), but got (?P<got>[\d,]+)\.$",
            QT_TRANSLATE_NOOP("Messages", "Size {size}: {got} pixels in all; it must be between {low} and {high}."),
        ),
        (
            r"^Invalid size '(?P<size>[^']*)'\. The long edge must be at most 3 times the short edge\.$",
            QT_TRANSLATE_NOOP("Messages", "Size {size}: the long edge may be at most 3 times the short edge."),
        ),
        (
            r"^Invalid size '(?P<size>[^']*)'\. Expected 'auto' or WIDTHxHEIGHT\.$",
            QT_TRANSLATE_NOOP("Messages", "Size {size}: write it as WIDTHxHEIGHT, for example 1536x1024."),
        ),
        (
            r"^Invalid value: '(?P<value>[^']*)'\. Supported values are: (?P<allowed>.+)\.$",
            QT_TRANSLATE_NOOP("Messages", "'{value}' is not allowed here; use one of {allowed}."),
        ),
        (
            r"^Transparent background is not supported for this model\.$",
            QT_TRANSLATE_NOOP("Messages", "This model cannot make transparent backgrounds."),
        ),
        (
            r"^Transparent background requires output_format 'png' or 'webp', got 'jpeg'\.$",
            QT_TRANSLATE_NOOP("Messages", "A transparent background needs PNG or WebP output, not JPEG."),
        ),
        (
            r"^Invalid 'output_compression': compression is only supported with output_format 'jpeg' or "
            r"'webp', got '(?P<format>\w+)'\.$",
            QT_TRANSLATE_NOOP("Messages", "Compression applies only to JPEG or WebP output."),
        ),
        (
            r"^Invalid 'partial_images': partial_images is only supported when stream is true\.$",
            QT_TRANSLATE_NOOP("Messages", "Partial images need streaming switched on."),
        ),
    )
]

# Exact titles and hints produced by api.errors.explain().
_PHRASES = {
    s: s
    for s in (
        QT_TRANSLATE_NOOP("Messages", "Cancelled"),
        QT_TRANSLATE_NOOP("Messages", "Invalid parameters"),
        QT_TRANSLATE_NOOP("Messages", "Nothing was sent."),
        QT_TRANSLATE_NOOP("Messages", "Configuration problem"),
        QT_TRANSLATE_NOOP("Messages", "The provider rejected the request"),
        QT_TRANSLATE_NOOP("Messages", "Check the parameters named in the message."),
        QT_TRANSLATE_NOOP("Messages", "The API key was not accepted"),
        QT_TRANSLATE_NOOP("Messages", "Enter a valid key for this provider in Settings."),
        QT_TRANSLATE_NOOP("Messages", "This key may not use this model or endpoint"),
        QT_TRANSLATE_NOOP("Messages", "Check the key's organisation and model access."),
        QT_TRANSLATE_NOOP("Messages", "The provider does not know this model or address"),
        QT_TRANSLATE_NOOP("Messages", "Check the model name and the base URL."),
        QT_TRANSLATE_NOOP("Messages", "The provider is rate limiting or out of quota"),
        QT_TRANSLATE_NOOP("Messages", "Wait a little, or check the account's quota."),
        QT_TRANSLATE_NOOP("Messages", "The provider failed to answer"),
        QT_TRANSLATE_NOOP("Messages", "This is usually temporary; try again in a minute."),
        QT_TRANSLATE_NOOP("Messages", "The provider did not answer in time"),
        QT_TRANSLATE_NOOP("Messages", "Could not reach the provider"),
        QT_TRANSLATE_NOOP("Messages", "Check the base URL and your network connection."),
        QT_TRANSLATE_NOOP("Messages", "The provider's answer was unusable"),
        QT_TRANSLATE_NOOP("Messages", "Error"),
        QT_TRANSLATE_NOOP("Messages", "Out of memory"),
        QT_TRANSLATE_NOOP("Messages", "The image is too large to process."),
        QT_TRANSLATE_NOOP("Messages", "Use a smaller selection."),
        QT_TRANSLATE_NOOP("Messages", "File problem"),
        QT_TRANSLATE_NOOP("Messages", "Unexpected error"),
        QT_TRANSLATE_NOOP("Messages", "The request was cancelled."),
        QT_TRANSLATE_NOOP("Messages", "Results that had already arrived are kept in history."),
        QT_TRANSLATE_NOOP("Messages", "The provider refused the upload as too large"),
        QT_TRANSLATE_NOOP("Messages", "Select a smaller area, or use fewer or smaller reference images."),
        QT_TRANSLATE_NOOP("Messages", "The provider's address redirects elsewhere"),
        QT_TRANSLATE_NOOP("Messages", "Enter the address it redirects to as the base URL."),
        QT_TRANSLATE_NOOP("Messages", "Check the base URL and the parameters named in the message."),
        QT_TRANSLATE_NOOP("Messages", "The provider's safety system refused the request"),
        QT_TRANSLATE_NOOP("Messages", "Rephrase the prompt or use another image; a refused request produces no image."),
        QT_TRANSLATE_NOOP("Messages", "The account is out of credit or quota"),
        QT_TRANSLATE_NOOP("Messages", "Check the plan and billing details with the provider; waiting will not help."),
        QT_TRANSLATE_NOOP(
            "Messages",
            "The provider may be overloaded: try again later, or turn on streaming, which keeps a long render's connection alive.",
        ),
        QT_TRANSLATE_NOOP("Messages", "The provider's host name was not found"),
        QT_TRANSLATE_NOOP("Messages", "Check the spelling of the base URL and that this computer is online."),
        QT_TRANSLATE_NOOP("Messages", "The provider's security certificate was not accepted"),
        QT_TRANSLATE_NOOP(
            "Messages",
            "If a company proxy or antivirus inspects HTTPS, install its certificate in the system's trust store (or point SSL_CERT_FILE at it); certificate checks stay on to protect the API key.",
        ),
        QT_TRANSLATE_NOOP("Messages", "The connection to the provider broke"),
        QT_TRANSLATE_NOOP("Messages", "Try again; results that had already arrived are kept in history."),
        QT_TRANSLATE_NOOP(
            "Messages", "Try again; if it keeps happening, report it to the provider with the request id."
        ),
        QT_TRANSLATE_NOOP("Messages", "The disk is full"),
        QT_TRANSLATE_NOOP("Messages", "Free some disk space, then try again."),
        QT_TRANSLATE_NOOP("Messages", "Check that the folder exists and can be written to."),
        # keystore.offline_notice(): the dialog's offline banner
        QT_TRANSLATE_NOOP(
            "Messages", "No provider is set up: using the embedded offline engine (free, private, no key needed)."
        ),
        QT_TRANSLATE_NOOP(
            "Messages",
            "It uses the MI-GAN inpainting model: it removes what the selection covers and does not follow the prompt.",
        ),
    )
}

_SENTENCES.append(
    (
        re.compile(r"^The provider asks to wait (?P<seconds>\d+) s; try again then, or check the quota\.$"),
        QT_TRANSLATE_NOOP("Messages", "The provider asks to wait {seconds} s; try again then, or check the quota."),
    )
)

_SENTENCES.append(
    (
        re.compile(r"^(?P<arrived>\d+) of (?P<requested>\d+) images? arrived$"),
        QT_TRANSLATE_NOOP("Messages", "{arrived} of {requested} images arrived."),
    )
)

_RULE_SUFFIX = re.compile(r"\s*\[rule: [^\]]*\]$")


def sentence(text: str) -> str:
    """One English sentence from the core, in the user's language when we know it."""
    bare = _RULE_SUFFIX.sub("", text.strip())
    for pattern, template in _SENTENCES:
        match = pattern.match(bare)
        if match:
            return QCoreApplication.translate(CTX, template).format(**match.groupdict())
    if bare in _PHRASES:
        return QCoreApplication.translate(CTX, bare)
    return text


def user_message(msg: UserMessage) -> UserMessage:
    """The funnel's message with its fixed parts translated; the provider's own words are kept."""
    return UserMessage(
        title=sentence(msg.title),
        detail=sentence(msg.detail),
        hint=sentence(msg.hint) if msg.hint else "",
        status_code=msg.status_code,
        request_id=msg.request_id,
    )
