# deliverwatch in a container: `docker compose -f contrib/docker-compose.yml up` starts it
# with PostgreSQL (the same three parts as `make run`: daemon, relay, web).
#
# BASE is any Debian-family image with Python >= 3.11 and its venv module: the official
# python image by default; `contrib/docker/local-base.sh` makes one from Debian packages
# for a machine that reaches no container registry (README, "Operations").
ARG BASE=python:3.11-slim-bookworm
FROM ${BASE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/deliverwatch/bin:$PATH \
    DELIVERWATCH_CONFIG=/etc/deliverwatch/config.toml

RUN useradd --system --uid 10001 --home-dir /var/lib/deliverwatch --create-home \
        --shell /usr/sbin/nologin deliverwatch

# A venv, not the base's site-packages: Debian's own python3 refuses `pip install` into
# the system (PEP 668), and the venv keeps our pins apart from the base's packages.
WORKDIR /src
COPY pyproject.toml README.md ./
COPY monitor ./monitor
COPY parsers ./parsers
COPY reports ./reports
RUN python3 -m venv /opt/deliverwatch \
    && pip install --quiet . \
    && rm -rf /src

COPY contrib/docker/config.toml /etc/deliverwatch/config.toml

USER deliverwatch
WORKDIR /var/lib/deliverwatch
VOLUME ["/var/lib/deliverwatch"]
# submission (STARTTLS) and the web service
EXPOSE 2587 8025
STOPSIGNAL SIGTERM
ENTRYPOINT ["deliverwatch"]
CMD ["serve"]
