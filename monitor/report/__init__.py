"""The daily report job (``daily``: build, write, mail) and the demo (``demo``, ``demodata``)."""
