# mikrosync: one image for the API (`mikrosync serve`) and the worker (`mikrosync worker`).
# There is no Docker engine on our build machines: this file is reviewed, not built, in CI.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    MIKROSYNC_DATA_DIR=/var/lib/mikrosync

WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
RUN pip install . \
    && useradd --system --home-dir /var/lib/mikrosync --create-home mikrosync

USER mikrosync
EXPOSE 8000
# Override the command for the worker: ["mikrosync", "worker"].
CMD ["mikrosync", "serve", "--host", "0.0.0.0", "--port", "8000"]
