"""Integration events over RabbitMQ: settings, publisher, consumer, inbox, metrics."""
