# deliverwatch in a container: `docker compose -f contrib/docker-compose.yml up` starts it
# with PostgreSQL (the same three parts as `make run`: daemon, relay, web).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DELIVERWATCH_CONFIG=/etc/deliverwatch/config.toml

RUN useradd --system --uid 10001 --home-dir /var/lib/deliverwatch --create-home \
        --shell /usr/sbin/nologin deliverwatch

WORKDIR /src
COPY pyproject.toml README.md ./
COPY monitor ./monitor
COPY parsers ./parsers
COPY reports ./reports
RUN pip install . && rm -rf /src

COPY contrib/docker/config.toml /etc/deliverwatch/config.toml

USER deliverwatch
WORKDIR /var/lib/deliverwatch
VOLUME ["/var/lib/deliverwatch"]
# submission (STARTTLS) and the web service
EXPOSE 2587 8025
STOPSIGNAL SIGTERM
ENTRYPOINT ["deliverwatch"]
CMD ["serve"]
