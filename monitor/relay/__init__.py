"""The built-in sending relay (``deliverwatch relay``): submission, queue, delivery."""
