Console.WriteLine("nv: not implemented yet");
return 0;
