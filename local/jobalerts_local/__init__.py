"""Running the service on one machine: resources from template.yaml on moto, handlers in-process."""
