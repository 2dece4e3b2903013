"""The door to the machine: Host, RealHost, ProfileHost, profiles, what capture records, redaction."""
