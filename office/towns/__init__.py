"""Town configurations shipped with the package (see ``office.catalogue``)."""
