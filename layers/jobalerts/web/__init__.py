"""The subscriptions HTTP API and the web pages behind the links we send."""
