"""What the relay does to a message between the queue and the wire (issue 15, relay side).

``headers`` (Message-ID and Date when missing, the private ``X-`` control fields removed,
List-Unsubscribe, List-Unsubscribe-Post and Feedback-ID on bulk mail), ``tracking`` (click
links and the open pixel in HTML parts, per campaign), ``dkim`` (the signatures, last) and
``composer`` (the three in order, per recipient when a recipient's tokens are in the message).
"""

from monitor.relay.compose.composer import Composer, ComposeSettings
from monitor.relay.compose.dkim import DkimKey, DkimSigner, generate_key, load_key

__all__ = ["ComposeSettings", "Composer", "DkimKey", "DkimSigner", "generate_key", "load_key"]
