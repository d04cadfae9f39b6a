"""Geography: the French places (communes, départements, régions) and their geocoder."""
