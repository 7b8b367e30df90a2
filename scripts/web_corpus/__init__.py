"""The tamperings and signed variants of the browser verifier's differential corpus."""
